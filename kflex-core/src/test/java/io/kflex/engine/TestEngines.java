package io.kflex.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Every engine of the build, found the way the rest of kflex finds them: registered in
 * {@code META-INF/services/io.kflex.engine.Engine}. Semantic tests run once per entry, so a new
 * engine is tested by registering it. The reference interpreter comes first.
 */
public final class TestEngines {
    private TestEngines() {}

    public static List<Engine> all() {
        List<Engine> engines = new ArrayList<>();
        ServiceLoader.load(Engine.class, TestEngines.class.getClassLoader()).forEach(engines::add);
        engines.sort(Comparator.comparing((Engine e) -> !e.name().equals("interpreter")).thenComparing(Engine::name));
        if (engines.isEmpty() || !engines.getFirst().name().equals("interpreter")) {
            throw new IllegalStateException("the interpreter is not registered as an engine: " + engines);
        }
        return List.copyOf(engines);
    }
}
