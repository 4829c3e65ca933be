/**
 * Weir's pure statistics: distributions, descriptive statistics, a seeded PRNG, the Mann–Whitney test,
 * the Kayenta-compatible canary judge, anytime-valid sequential tests and experiment statistics.
 * Everything is synchronous and free of I/O; randomness is passed in. See docs/statistics.md.
 */
export * from './special.ts';
export * from './distributions.ts';
export * from './descriptive.ts';
export * from './random.ts';
export * from './mann-whitney.ts';
export type * from './kayenta-types.ts';
export * from './kayenta-classify.ts';
export * from './kayenta-judge.ts';
export * from './sequential-multinomial.ts';
export * from './sequential-means.ts';
export * from './sequential-judge.ts';
export * from './experiments.ts';
export * from './experiments-ratio.ts';
export * from './multiple-testing.ts';
