package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.Outcome;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every cancellation is reported as a JFR event and counted in the program's statistics. */
class CancellationEventTest {

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void aCancellationIsRecordedWithItsPointReasonAndReleasedResources(String engine, @TempDir Path dir) throws Exception {
        try (CancelDemo d = new CancelDemo(engine, b -> b.policy(CancellationPolicy.KEEP));
             Recording recording = new Recording()) {
            recording.enable("io.kflex.Cancellation");
            recording.start();
            TestRunResult r = d.spinOnce(Duration.ofMillis(15));
            recording.stop();
            Path file = dir.resolve("cancel.jfr");
            recording.dump(file);

            Outcome.Cancelled c = (Outcome.Cancelled) r.outcome();
            List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                    .filter(e -> e.getEventType().getName().equals("io.kflex.Cancellation")).toList();
            assertThat(events).hasSize(1);
            RecordedEvent e = events.getFirst();
            assertThat(e.getString("object")).isEqualTo("cancel_demo.bpf.o");
            assertThat(e.getString("program")).isEqualTo("hold_and_spin");
            assertThat(e.getInt("instruction")).isEqualTo(c.pc());
            assertThat(e.getString("sourceLine")).startsWith("cancel_demo.bpf.c:").contains("while");
            assertThat(e.getString("reason")).isEqualTo("exceeded budget of 15 ms");
            assertThat(e.getDuration("elapsed")).isGreaterThanOrEqualTo(Duration.ofMillis(10));
            assertThat(e.getString("released").split(",")).containsExactlyElementsOf(c.released());
            assertThat(e.getString("objectTable").split(",")).hasSize(5).contains("socket", "ringbuf_record", "kflex_spin_lock", "bpf_spin_lock");
            assertThat(e.getString("policy")).isEqualTo("KEEP");
            assertThat(d.spin.stats().cancellations()).isEqualTo(1);
            assertThat(d.spin.stats().faults()).isZero();
            assertThat(Files.size(file)).isPositive();
        }
    }
}
