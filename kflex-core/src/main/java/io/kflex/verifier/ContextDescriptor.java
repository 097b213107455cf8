package io.kflex.verifier;

import io.kflex.loader.ProgramType;
import java.util.List;

/**
 * The layout of a program type's context as the program sees it (Linux UAPI structs): which
 * fields exist, how wide, whether the program may write them, and which loads produce packet
 * pointers. A SYSCALL context is a plain buffer of {@link #bufferSize} bytes.
 */
public record ContextDescriptor(String structName, int size, List<Field> fields, boolean isBuffer) {

    /** One context field; {@code produces} is null for scalar fields. */
    public record Field(String name, int offset, int size, boolean writable, PointerKind produces) {}

    /** Size of the SYSCALL program's context buffer (the arguments the caller passes). */
    public static final int SYSCALL_BUFFER_SIZE = 4096;

    /** The field containing byte {@code offset}, or null. */
    public Field fieldAt(int offset) {
        for (Field f : fields) {
            if (offset >= f.offset && offset < f.offset + f.size) return f;
        }
        return null;
    }

    public static ContextDescriptor of(ProgramType type) {
        return switch (type) {
            case XDP -> new ContextDescriptor("xdp_md", 24, List.of(
                    new Field("data", 0, 4, false, PointerKind.PACKET),
                    new Field("data_end", 4, 4, false, PointerKind.PACKET_END),
                    new Field("data_meta", 8, 4, false, PointerKind.PACKET_META),
                    new Field("ingress_ifindex", 12, 4, false, null),
                    new Field("rx_queue_index", 16, 4, false, null),
                    new Field("egress_ifindex", 20, 4, false, null)), false);
            case SCHED_CLS, SCHED_ACT, SK_SKB, SOCKET_FILTER, CGROUP_SKB -> skBuff(type);
            case SYSCALL -> new ContextDescriptor("syscall ctx", SYSCALL_BUFFER_SIZE, List.of(), true);
            default -> new ContextDescriptor("ctx", 0, List.of(), false);
        };
    }

    /** {@code struct __sk_buff}: the fields programs commonly use; packet pointers only where Linux gives them. */
    private static ContextDescriptor skBuff(ProgramType type) {
        boolean directPacket = type != ProgramType.SOCKET_FILTER && type != ProgramType.CGROUP_SKB;
        boolean tc = type == ProgramType.SCHED_CLS || type == ProgramType.SCHED_ACT;
        List<Field> fields = new java.util.ArrayList<>(List.of(
                new Field("len", 0, 4, false, null),
                new Field("pkt_type", 4, 4, false, null),
                new Field("mark", 8, 4, tc, null),
                new Field("queue_mapping", 12, 4, tc, null),
                new Field("protocol", 16, 4, false, null),
                new Field("vlan_present", 20, 4, false, null),
                new Field("vlan_tci", 24, 4, false, null),
                new Field("vlan_proto", 28, 4, false, null),
                new Field("priority", 32, 4, tc, null),
                new Field("ingress_ifindex", 36, 4, false, null),
                new Field("ifindex", 40, 4, false, null),
                new Field("tc_index", 44, 4, tc, null),
                new Field("cb", 48, 20, true, null),
                new Field("hash", 68, 4, false, null),
                new Field("tc_classid", 72, 4, tc, null),
                new Field("data", 76, 4, false, directPacket ? PointerKind.PACKET : null),
                new Field("data_end", 80, 4, false, directPacket ? PointerKind.PACKET_END : null),
                new Field("napi_id", 84, 4, false, null),
                new Field("family", 88, 4, false, null),
                new Field("remote_ip4", 92, 4, false, null),
                new Field("local_ip4", 96, 4, false, null),
                new Field("remote_ip6", 100, 16, false, null),
                new Field("local_ip6", 116, 16, false, null),
                new Field("remote_port", 132, 4, false, null),
                new Field("local_port", 136, 4, false, null),
                new Field("data_meta", 140, 4, false, tc ? PointerKind.PACKET_META : null)));
        // A packet field that does not give a packet pointer would hand the program a host address
        // as a number: such fields are simply absent.
        fields.removeIf(f -> f.name().startsWith("data") && f.produces() == null);
        return new ContextDescriptor("__sk_buff", 192, List.copyOf(fields), false);
    }
}
