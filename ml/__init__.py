"""Images, embeddings and near-duplicates (the embedding job)."""
