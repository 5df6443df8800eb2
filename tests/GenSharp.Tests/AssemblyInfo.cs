using Xunit;

// libtorch's random generator is process-wide: tests that check seeded repeatability (resume,
// sampling) would see other tests' draws if classes ran in parallel.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
