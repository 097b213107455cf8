package io.kflex.runtime.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** An extension program passed the verifier and was compiled by an engine. */
@Name("io.kflex.ProgramLoaded")
@Label("Extension Program Loaded")
@Category({"kflex", "Extensions"})
@Description("A program of an eBPF object was verified and prepared by an engine")
public final class ProgramLoadedEvent extends Event {
    @Label("Object") public String object;
    @Label("Program") public String program;
    @Label("Engine") public String engine;
    @Label("Processed Instructions") public long processedInstructions;
    @Label("Cancellation Points") public int cancellationPoints;
    @Label("Guards Needed") public long guardsNeeded;
    @Label("Guards Elided") public long guardsElided;
}
