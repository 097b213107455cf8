package io.kflex.runtime.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Timespan;

/** An invocation was cancelled at a cancellation point and its resources released. */
@Name("io.kflex.Cancellation")
@Label("Extension Cancelled")
@Category({"kflex", "Extensions"})
@Description("A running extension was stopped at a cancellation point; the resources it held were released")
public final class CancellationEvent extends Event {
    @Label("Object") public String object;
    @Label("Program") public String program;
    @Label("Instruction") public int instruction;
    @Label("Source Line") public String sourceLine;
    @Label("Reason") public String reason;
    @Label("Elapsed") @Timespan(Timespan.NANOSECONDS) public long elapsed;
    @Label("Released") @Description("The resources the object table released, comma-separated") public String released;
    @Label("Object Table") @Description("The resource kinds the verifier said the program may hold at this point")
    public String objectTable;
    @Label("Policy") public String policy;
}
