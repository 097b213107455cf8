package io.kflex.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void escapesEverythingRfc8259Requires() {
        StringBuilder sb = new StringBuilder();
        Json.string(sb, "a\"b\\c\nd\re\tf\bg\fh\u0001i\u001fj\u2028k/é");
        assertThat(sb.toString()).isEqualTo("\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0001i\\u001fj\\u2028k/é\"");
    }

    @Test
    void objectsKeepTheirOrderAndTypes() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("file", "x.data");
        o.put("n", 3);
        o.put("ok", true);
        o.put("none", null);
        assertThat(Json.object(o)).isEqualTo("{\"file\":\"x.data\",\"n\":3,\"ok\":true,\"none\":null}");
    }
}
