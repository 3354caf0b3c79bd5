/**
 * Offline features: point-in-time-correct training sets. {@link
 * dev.lakeforge.features.PointInTimeJoin} joins a {@link dev.lakeforge.features.Spine} with {@link
 * dev.lakeforge.features.FeatureSource}s as of each spine row's time within a TTL; {@link
 * dev.lakeforge.features.TrainingSetSpec} is the YAML spec of a training set and checks its columns
 * against table schemas. Feature-set materialization and the training-set job are to come (issue
 * 10). Depends on {@code dev.lakeforge.core} and {@code dev.lakeforge.lakehouse}.
 */
package dev.lakeforge.features;
