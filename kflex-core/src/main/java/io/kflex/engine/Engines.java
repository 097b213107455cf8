package io.kflex.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * The engines this build contains, found with {@link ServiceLoader}: an engine registers itself
 * in {@code META-INF/services/io.kflex.engine.Engine}. Callers that run "on every engine" (the
 * conformance runner, differential tests, {@code --engine both}) ask here rather than naming
 * implementations, so a new engine is picked up everywhere by registering it.
 */
public final class Engines {
    /** Preferred order: the reference interpreter first, then the JIT; unknown engines after, by name. */
    private static final List<String> ORDER = List.of("interpreter", "jit");

    private Engines() {}

    /** Every registered engine, interpreter first. */
    public static List<Engine> available() {
        List<Engine> engines = new ArrayList<>();
        try {
            for (Engine engine : ServiceLoader.load(Engine.class, Engines.class.getClassLoader())) engines.add(engine);
        } catch (ServiceConfigurationError e) {
            throw new IllegalStateException("an engine is registered but cannot be created: " + e.getMessage(), e);
        }
        engines.sort(Comparator.comparingInt((Engine e) -> rank(e.name())).thenComparing(Engine::name));
        return List.copyOf(engines);
    }

    /** The registered engine with this {@linkplain Engine#name() name}. */
    public static Optional<Engine> named(String name) {
        return available().stream().filter(e -> e.name().equals(name)).findFirst();
    }

    private static int rank(String name) {
        int i = ORDER.indexOf(name);
        return i < 0 ? ORDER.size() : i;
    }
}
