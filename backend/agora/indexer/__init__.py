"""The chain indexer: every Agora event in SQL, exactly once, through crashes and reorgs."""
