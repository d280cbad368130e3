"""The market's own words, with no database or chain I/O: job terms and ids, prices to
the wei, job and provider states, and the parameter profiles of a deployment.

Everything here mirrors the contracts exactly (`contracts/types/Job.sol`,
`contracts/libraries/Pricing.sol`, `IProviderRegistry`), so services can decide without
asking the chain; the matching engine imports nothing else of the package.
"""
