"""The buyer's test fixtures (buyerkit): a market with providers, a blob node, blob clients."""

from buyerkit import blob_node, blobs, market, provider_blobs  # noqa: F401 - fixtures
