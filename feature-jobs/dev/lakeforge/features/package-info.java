/**
 * Offline features. Feature sets ({@link dev.lakeforge.features.FeatureSetSpec}, registered by
 * {@link dev.lakeforge.features.ApplyFeatureSetsJob}) are windowed aggregations per entity,
 * materialized incrementally into feature tables by {@link
 * dev.lakeforge.features.FeatureMaterializeJob}. Training sets ({@link
 * dev.lakeforge.features.TrainingSetSpec}, built by {@link dev.lakeforge.features.TrainingSetJob})
 * join a {@link dev.lakeforge.features.Spine} with {@link dev.lakeforge.features.FeatureSource}s
 * point in time ({@link dev.lakeforge.features.PointInTimeJoin}). Depends on {@code
 * dev.lakeforge.core}, {@code dev.lakeforge.catalog} and {@code dev.lakeforge.lakehouse}.
 */
package dev.lakeforge.features;
