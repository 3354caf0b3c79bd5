package dev.lakeforge.bench;

/**
 * One timed run.
 *
 * @param measurement what was timed
 * @param profile the session's settings
 * @param seconds wall time
 * @param tasks Spark tasks the run finished
 */
record Sample(Measurement measurement, Profile profile, double seconds, long tasks) {}
