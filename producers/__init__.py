"""Producers: everything that publishes records and annotations to Kafka."""
