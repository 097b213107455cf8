package io.kflex.loader;

/**
 * The object's extension heap: its arena map ({@code BPF_MAP_TYPE_ARENA}) of {@code size} bytes
 * (max_entries pages of 4096 bytes), at {@code userAddress} in the user view if the object asks for
 * one ({@code map_extra}), else 0.
 */
public record HeapDeclaration(String mapName, int mapIndex, long size, long userAddress) {
    public static final int PAGE_SIZE = 4096;
}
