package io.kflex.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.kflex.conformance.ConformanceRunner.Result;
import io.kflex.conformance.ConformanceRunner.Status;
import io.kflex.engine.Engine;
import io.kflex.engine.Engines;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The public conformance suite passes on every engine of the build. */
class ConformanceSuiteTest {

    @Test
    void everyFilePassesOnEveryEngine() throws Exception {
        Path dir = ConformanceSuite.directory();
        List<Engine> engines = Engines.available();
        assumeFalse(engines.isEmpty(), "no engine is registered in META-INF/services/io.kflex.engine.Engine");
        List<Result> results = new ArrayList<>();
        try (ConformanceRunner runner = new ConformanceRunner(engines, ConformanceRunner.DEFAULT_BUDGET)) {
            for (Path file : ConformanceRunner.collect(List.of(dir))) results.addAll(runner.run(TestFile.read(file)));
        }
        List<String> notPassed = results.stream()
                .filter(r -> r.status() != Status.PASSED)
                .map(r -> r.status() + " " + r.engine() + " " + dir.relativize(r.file()) + ": " + r.message())
                .toList();
        assertThat(notPassed).as("conformance files that did not pass").isEmpty();
        assertThat(results).hasSize(ConformanceSuite.FILES * engines.size());
    }
}
