package io.kflex.runtime.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** The verifier rejected an extension program. */
@Name("io.kflex.VerificationFailed")
@Label("Extension Verification Failed")
@Category({"kflex", "Extensions"})
@Description("The verifier rejected a program of an eBPF object")
public final class VerificationFailedEvent extends Event {
    @Label("Object") public String object;
    @Label("Program") public String program;
    @Label("Instruction") public int instruction;
    @Label("Rule") public String rule;
    @Label("Message") public String message;
}
