package io.kflex.jit;

import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeElement;
import java.lang.classfile.CodeModel;
import java.lang.classfile.FieldModel;
import java.lang.classfile.Instruction;
import java.lang.classfile.Label;
import java.lang.classfile.MethodModel;
import java.lang.classfile.instruction.*;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A stable, javap-like text of a generated class: fields, then every method's instructions with
 * labels numbered in order of appearance and its exception table. Used to pin the translation.
 */
final class BytecodeListing {
    private BytecodeListing() {}

    static String of(byte[] bytes) {
        ClassModel model = ClassFile.of().parse(bytes);
        StringBuilder out = new StringBuilder();
        for (FieldModel f : model.fields()) {
            out.append("field ").append(f.fieldName().stringValue()).append(' ').append(f.fieldType().stringValue()).append('\n');
        }
        for (MethodModel m : model.methods()) {
            out.append("\nmethod ").append(m.methodName().stringValue()).append(m.methodType().stringValue()).append('\n');
            m.code().ifPresent(code -> listCode(code, out));
        }
        return out.toString();
    }

    private static void listCode(CodeModel code, StringBuilder out) {
        Map<Label, String> names = new HashMap<>();
        for (CodeElement e : code) {
            if (e instanceof LabelTarget t) names.computeIfAbsent(t.label(), l -> "L" + names.size());
        }
        for (CodeElement e : code) {
            switch (e) {
                case LabelTarget t -> out.append(names.get(t.label())).append(":\n");
                case Instruction i -> out.append("    ").append(instruction(i, names)).append('\n');
                default -> {}
            }
        }
        for (ExceptionCatch c : code.exceptionHandlers()) {
            out.append("  catch ").append(names.get(c.tryStart())).append('-').append(names.get(c.tryEnd()))
                    .append(" -> ").append(names.get(c.handler())).append(' ')
                    .append(c.catchType().map(t -> t.asInternalName()).orElse("any")).append('\n');
        }
    }

    private static String instruction(Instruction i, Map<Label, String> names) {
        String op = i.opcode().name().toLowerCase(Locale.ROOT);
        // Short forms (aload_0, iconst_3, lconst_1) carry their operand in the name.
        if (op.matches(".*_(m1|\\d)")) return op;
        String operands = switch (i) {
            case LoadInstruction l -> Integer.toString(l.slot());
            case StoreInstruction s -> Integer.toString(s.slot());
            case IncrementInstruction inc -> inc.slot() + " " + inc.constant();
            case ConstantInstruction c -> String.valueOf(c.constantValue());
            case BranchInstruction b -> names.get(b.target());
            case FieldInstruction f -> f.owner().asInternalName() + "." + f.name().stringValue() + ":" + f.type().stringValue();
            case InvokeInstruction inv -> inv.owner().asInternalName() + "." + inv.name().stringValue() + inv.type().stringValue();
            case TypeCheckInstruction t -> t.type().asInternalName();
            case NewPrimitiveArrayInstruction a -> a.typeKind().toString();
            case LookupSwitchInstruction s -> s.cases().stream().map(c -> c.caseValue() + ":" + names.get(c.target()))
                    .collect(Collectors.joining(" ")) + " default:" + names.get(s.defaultTarget());
            case TableSwitchInstruction s -> s.cases().stream().map(c -> c.caseValue() + ":" + names.get(c.target()))
                    .collect(Collectors.joining(" ")) + " default:" + names.get(s.defaultTarget());
            default -> "";
        };
        return operands.isEmpty() ? op : op + " " + operands;
    }
}
