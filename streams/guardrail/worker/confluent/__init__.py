"""The confluent-kafka runtime: transactions (exactly once), RocksDB per partition."""
