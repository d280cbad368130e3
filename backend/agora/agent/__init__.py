"""The provider agent: accepts the jobs matched to it, runs them in the WebAssembly sandbox
and submits their result hashes (`ProviderAgent`, `agora provider run`)."""
