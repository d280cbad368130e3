"""Agora: an open compute marketplace governed by smart contracts."""
