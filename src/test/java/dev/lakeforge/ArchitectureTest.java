package dev.lakeforge;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The allowed dependency directions between the components: core ← catalog ← lakehouse ← features ←
 * inference ← applications (CLI, quickstart, Main). Nothing depends on the applications, and the
 * core knows no component.
 */
@AnalyzeClasses(packages = "dev.lakeforge", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

  @ArchTest
  static final ArchRule layers =
      layeredArchitecture()
          .consideringOnlyDependenciesInLayers()
          .withOptionalLayers(true)
          .layer("Core")
          .definedBy("dev.lakeforge.core..")
          .layer("Catalog")
          .definedBy("dev.lakeforge.catalog..")
          .layer("Lakehouse")
          .definedBy("dev.lakeforge.lakehouse..")
          .layer("Features")
          .definedBy("dev.lakeforge.features..")
          .layer("Inference")
          .definedBy("dev.lakeforge.inference..")
          .layer("Applications")
          .definedBy("dev.lakeforge", "dev.lakeforge.cli..", "dev.lakeforge.quickstart..")
          .whereLayer("Applications")
          .mayNotBeAccessedByAnyLayer()
          .whereLayer("Inference")
          .mayOnlyBeAccessedByLayers("Applications")
          .whereLayer("Features")
          .mayOnlyBeAccessedByLayers("Inference", "Applications")
          .whereLayer("Lakehouse")
          .mayOnlyBeAccessedByLayers("Features", "Inference", "Applications")
          .whereLayer("Catalog")
          .mayOnlyBeAccessedByLayers("Lakehouse", "Features", "Inference", "Applications");

  @ArchTest
  static final ArchRule coreKnowsNoComponent =
      noClasses()
          .that()
          .resideInAPackage("dev.lakeforge.core..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "dev.lakeforge.catalog..",
              "dev.lakeforge.lakehouse..",
              "dev.lakeforge.features..",
              "dev.lakeforge.inference..",
              "dev.lakeforge.cli..",
              "dev.lakeforge.quickstart..");

  @ArchTest
  static final ArchRule onlyTheCliUsesPicocli =
      noClasses()
          .that()
          .resideOutsideOfPackages("dev.lakeforge.cli..", "dev.lakeforge")
          .should()
          .dependOnClassesThat()
          .resideInAPackage("picocli..");

  @ArchTest
  static final ArchRule onlySparkInternalsUsesTheClassicSession =
      noClasses()
          .that()
          .doNotHaveFullyQualifiedName("dev.lakeforge.core.SparkInternals")
          .should()
          .dependOnClassesThat()
          .resideInAPackage("org.apache.spark.sql.classic..")
          .because(
              "the rest must work unchanged on a Spark Connect session (SparkInternals is the adapter)");

  @ArchTest
  static final ArchRule noStaticSparkSessionAccessors =
      noClasses()
          .that()
          .resideInAnyPackage(
              "dev.lakeforge.lakehouse..",
              "dev.lakeforge.catalog..",
              "dev.lakeforge.features..",
              "dev.lakeforge.inference..")
          .should()
          .callMethod(org.apache.spark.sql.SparkSession.class, "active")
          .because("jobs get the SparkSession passed in (STYLE.md)");
}
