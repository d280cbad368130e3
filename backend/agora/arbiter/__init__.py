"""The arbiter: re-runs a disputed job and rules by comparing result hashes (`Arbiter`,
`agora arbiter run`)."""
