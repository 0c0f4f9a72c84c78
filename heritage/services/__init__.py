"""The local stack: a real Kafka broker (KRaft), MinIO and PostgreSQL on loopback."""
