package io.kflex.btf;

/** The function starting at {@code slot}: its BTF FUNC type id and name. */
public record FuncInfo(int slot, int typeId, String name) {
    public FuncInfo withSlot(int newSlot) { return new FuncInfo(newSlot, typeId, name); }
}
