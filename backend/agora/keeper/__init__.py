"""The keeper service: overdue market actions (reclaim, slash, finalize, expire, close dispute)."""
