package io.kflex.cli;

import java.util.Map;

/** Just enough JSON for one-object-per-line output: flat objects of strings, numbers, booleans and lists of them. */
final class Json {
    private Json() {}

    /** An object with the entries in iteration order; values are String, Number, Boolean, null or a List of those. */
    static String object(Map<String, ?> entries) {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, ?> e : entries.entrySet()) {
            if (sb.length() > 1) sb.append(',');
            string(sb, e.getKey());
            sb.append(':');
            value(sb, e.getValue(), true);
        }
        return sb.append('}').toString();
    }

    private static void value(StringBuilder sb, Object value, boolean listAllowed) {
        switch (value) {
            case null -> sb.append("null");
            case String s -> string(sb, s);
            case Number n -> sb.append(n);
            case Boolean b -> sb.append(b);
            case java.util.List<?> list when listAllowed -> {
                sb.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (i > 0) sb.append(',');
                    value(sb, list.get(i), false);
                }
                sb.append(']');
            }
            default -> throw new IllegalArgumentException("not a JSON scalar: " + value.getClass());
        }
    }

    /** Appends {@code s} as a JSON string literal (RFC 8259 escaping). */
    static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    // Control characters must be escaped; U+2028/2029 are escaped too so the
                    // output is also valid JavaScript.
                    if (c < 0x20 || c == '\u2028' || c == '\u2029') sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}
