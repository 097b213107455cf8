package io.kflex.runtime;

import io.kflex.loader.ProgramType;
import io.kflex.verifier.ContextDescriptor;
import java.util.ArrayList;
import java.util.List;

/**
 * How a program type's context sits in memory at run time. The program sees the Linux UAPI struct
 * ({@code struct xdp_md}, {@code struct __sk_buff}) at offsets {@code 0..uapiSize}, where pointer
 * fields such as {@code data} are only 32 bits wide. As in Linux, where the verifier rewrites such
 * loads into loads of the kernel's real pointers, each pointer field gets a 64-bit <em>shadow</em>
 * slot after the struct and {@link ContextRewriter} redirects the program's loads of the field to
 * it. The host writes the real pointers into the shadow slots; the 32-bit UAPI fields stay 0, so a
 * program never sees a truncated host address.
 */
public record ContextLayout(ProgramType type, ContextDescriptor descriptor, int uapiSize, List<Shadow> shadows, int size) {

    /** The 64-bit slot at {@code offset} that holds the pointer the UAPI field {@code field} stands for. */
    public record Shadow(ContextDescriptor.Field field, int offset) {}

    public ContextLayout {
        shadows = List.copyOf(shadows);
    }

    /** The layout for {@code type}: the UAPI struct, then one 8-byte shadow per pointer field. */
    public static ContextLayout of(ProgramType type) {
        ContextDescriptor d = ContextDescriptor.of(type);
        int uapi = d.size();
        int next = (uapi + 7) & ~7;
        List<Shadow> shadows = new ArrayList<>();
        for (ContextDescriptor.Field f : d.fields()) {
            if (f.produces() != null) {
                shadows.add(new Shadow(f, next));
                next += 8;
            }
        }
        return new ContextLayout(type, d, uapi, shadows, next);
    }

    /** The shadow of the field named {@code name} ({@code data}, {@code data_end}, ...), or null. */
    public Shadow shadow(String name) {
        for (Shadow s : shadows) if (s.field().name().equals(name)) return s;
        return null;
    }

    /** The shadow of the pointer field containing UAPI byte {@code offset}, or null. */
    public Shadow shadowAt(long offset) {
        for (Shadow s : shadows) {
            ContextDescriptor.Field f = s.field();
            if (offset >= f.offset() && offset < f.offset() + f.size()) return s;
        }
        return null;
    }
}
