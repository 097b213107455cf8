package io.kflex.verifier;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The two corpus halves together: a few hundred programs, every rule shown by at least two rejections. */
class CorpusCoverageTest {

    @Test
    void everyRuleHasAtLeastTwoRejectionsAndTheCorpusHasSeveralHundredPrograms() {
        List<Rule> expected = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (VerifierCorpusTest.Case c : new VerifierCorpusTest().cases()) {
            expected.add(c.expected());
            names.add(c.name());
        }
        for (VerifierCorpusMoreTest.Case c : new VerifierCorpusMoreTest().cases()) {
            expected.add(c.expected());
            names.add(c.name());
        }
        Map<Rule, Integer> rejections = new EnumMap<>(Rule.class);
        for (Rule r : expected) if (r != null) rejections.merge(r, 1, Integer::sum);
        for (Rule r : Rule.values()) {
            assertThat(rejections.getOrDefault(r, 0)).as("rejections for " + r).isGreaterThanOrEqualTo(2);
        }
        assertThat(expected).hasSizeGreaterThanOrEqualTo(300);
        assertThat(expected.stream().filter(r -> r == null).count()).as("accepted programs").isGreaterThanOrEqualTo(100);
        assertThat(names).as("case names are unique").doesNotHaveDuplicates();
    }
}
