package io.kflex.engine;

import io.kflex.helpers.HelperTable;

/**
 * What a program is linked against when an engine loads it: the host helpers it may call by
 * number. Later stages add maps, the heap and verifier facts here.
 */
public record Bindings(HelperTable helpers) {
    public static Bindings of(HelperTable helpers) {
        return new Bindings(helpers);
    }
}
