package dev.lakeforge.cli;

import dev.lakeforge.inference.InferenceJob;
import dev.lakeforge.inference.InferenceJobSpec;
import dev.lakeforge.lakehouse.Progress;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code lakeforge infer JOB.yaml}: score a lakehouse table with a registered model. */
@Command(
    name = "infer",
    mixinStandardHelpOptions = true,
    description = {
      "Score a lakehouse table with a registered model into an output table (job spec: conf/jobs).",
      "Each input row is scored once per model version: a killed run, run again, scores only the"
          + " rows still missing; a finished job run again writes nothing.",
      "One run of a job at a time: a second run of the same job name is refused while one runs."
    })
final class InferCommand extends Subcommand {
  @Parameters(
      paramLabel = "JOB",
      description = "The job spec (YAML), e.g. conf/jobs/score_customers.yaml.")
  Path job;

  @Override
  void run() {
    InferenceJobSpec spec = InferenceJobSpec.read(job); // validated before the session starts
    InferenceJob.Result r = new InferenceJob(spec).run(root().spark());
    TextTable t =
        new TextTable(
            List.of(
                "job",
                "model",
                "input",
                "output",
                "rows",
                "commits",
                "time",
                "rate",
                "device",
                "model loads"));
    t.add(
        spec.name(),
        r.model(),
        spec.input().table() + "@" + r.inputVersion(),
        spec.output().table() + "@" + r.outputVersion(),
        r.rowsScored(),
        r.commits(),
        Progress.seconds(r.elapsed().toNanos()),
        Progress.rate(r.rowsScored(), r.elapsed().toNanos()),
        r.model().device().label(),
        r.metrics().loadsByExecutor());
    out().print(t.render());
    if (!r.placement().note().isEmpty()) {
      // why `device: auto` ran on the CPU: the same note as the log and the run's device_note
      out().printf("Model %s: %s%n", r.model(), r.placement().note());
    }
    out().printf("run %s%n", r.runId());
  }
}
