package io.kflex.btf;

/**
 * The source position of the instruction at {@code slot} (relative to its section in an object,
 * to its program once loaded): file, 1-based line and column, and the text of that source line.
 */
public record LineInfo(int slot, String file, int line, int column, String source) {
    public LineInfo withSlot(int newSlot) { return new LineInfo(newSlot, file, line, column, source); }

    @Override
    public String toString() {
        return file + ":" + line + (column > 0 ? ":" + column : "") + (source.isEmpty() ? "" : " " + source.strip());
    }
}
