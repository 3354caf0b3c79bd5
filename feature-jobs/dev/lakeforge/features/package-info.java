/**
 * Offline features: windowed aggregates per entity written to feature tables, and
 * point-in-time-correct training sets (as-of joins with a TTL). Depends on {@code
 * dev.lakeforge.lakehouse} and {@code dev.lakeforge.catalog}; nothing here yet (a later issue).
 */
package dev.lakeforge.features;
