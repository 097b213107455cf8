package io.kflex.engine;

import io.kflex.interp.Interpreter;
import java.util.List;

/** Every engine that exists; semantic tests run once per entry. */
public final class Engines {
    private Engines() {}

    public static List<Engine> all() {
        return List.of(new Interpreter());
    }
}
