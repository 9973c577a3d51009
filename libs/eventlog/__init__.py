"""Reading and naming the log of record, shared by every service (Kafka or embedded table)."""
