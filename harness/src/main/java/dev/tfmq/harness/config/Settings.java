package dev.tfmq.harness.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Typed, validated reads from a resolved HOCON tree. Every failure is a {@link ConfigError} naming the full key,
 * where the value came from, the value and the allowed values.
 */
final class Settings {
    private final Config config;
    private final String prefix;
    private final String display;

    Settings(Config config, String prefix) {
        this(config, prefix, prefix);
    }

    /** @param display how the prefix is shown in errors (e.g. a list element, which is no HOCON path) */
    Settings(Config config, String prefix, String display) {
        this.config = config;
        this.prefix = prefix;
        this.display = display;
    }

    Settings at(String path) {
        return new Settings(config, path(path), shown(path));
    }

    /** Path inside the config. */
    private String path(String p) {
        return prefix.isEmpty() ? p : prefix + "." + p;
    }

    /** The key as the user knows it. */
    String key(String p) {
        return shown(p);
    }

    private String shown(String p) {
        return display.isEmpty() ? p : display + "." + p;
    }

    /**
     * Fails on any key of this block outside {@code allowed} (first path segment), naming it and the nearest allowed
     * key: a misspelled key must never be read as "absent, take the default", least of all in a gate.
     */
    void onlyKeys(String... allowed) {
        java.util.Set<String> ok = java.util.Set.of(allowed);
        Config block = prefix.isEmpty() ? config : config.hasPath(prefix) ? config.getConfig(prefix) : null;
        if (block == null) return;
        for (String k : new java.util.TreeSet<>(block.root().keySet())) {
            if (ok.contains(k)) continue;
            throw new ConfigError("unknown config key '" + shown(k) + "'" + origin(k) + nearest(k, allowed)
                    + "; keys allowed here: " + String.join(", ", new java.util.TreeSet<>(ok)));
        }
    }

    /** "; did you mean 'x'?" for the allowed key within edit distance 3, or nothing. */
    static String nearest(String key, String... allowed) {
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (String a : allowed) {
            int d = editDistance(key, a);
            if (d < bestD) {
                bestD = d;
                best = a;
            }
        }
        return best != null && bestD <= 3 ? "; did you mean '" + best + "'?" : "";
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    boolean has(String path) {
        return config.hasPath(path(path));
    }

    private String origin(String path) {
        ConfigValue v = config.hasPath(path(path)) ? config.getValue(path(path)) : null;
        if (v == null || v.origin() == null) return "";
        String d = v.origin().description();
        return d == null ? "" : " (" + d + ")";
    }

    private ConfigError bad(String path, Object value, String allowed) {
        return new ConfigError("config key '" + key(path) + "' = " + render(value) + origin(path) + ": expected " + allowed);
    }

    private static String render(Object v) {
        return v instanceof String ? "\"" + v + "\"" : String.valueOf(v);
    }

    private ConfigValue value(String path) {
        if (!config.hasPathOrNull(path(path))) {
            throw new ConfigError("config key '" + key(path) + "' is missing");
        }
        return config.getValue(path(path));
    }

    String string(String path) {
        ConfigValue v = value(path);
        if (v.valueType() == ConfigValueType.OBJECT || v.valueType() == ConfigValueType.LIST) {
            throw bad(path, v.render(), "a string");
        }
        return String.valueOf(v.unwrapped());
    }

    private static final java.util.regex.Pattern PLAIN_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    /**
     * A string that is safe as one folder name: letters, digits, '.', '_' and '-', starting with a letter or digit
     * (so never "..", never a path). A run name like "../../x" used to put the run directory outside runs/.
     */
    String plainName(String path) {
        String s = string(path);
        if (!PLAIN_NAME.matcher(s).matches()) {
            throw bad(path, s, "a plain name of at most 128 letters, digits, '.', '_' and '-', starting with a letter or digit"
                    + " (it names the folder runs/<name>), e.g. \"my-run\"");
        }
        return s;
    }

    /** A string, or null when the key is absent or null. */
    String optionalString(String path) {
        if (!config.hasPath(path(path))) return null;
        String s = string(path);
        return s.isBlank() ? null : s;
    }

    String oneOf(String path, String... allowed) {
        String s = string(path).toLowerCase(Locale.ROOT);
        if (!Arrays.asList(allowed).contains(s)) throw bad(path, string(path), "one of " + String.join(", ", allowed));
        return s;
    }

    long longIn(String path, long min, long max) {
        ConfigValue v = value(path);
        long x;
        try {
            x = config.getLong(path(path));
        } catch (ConfigException.WrongType e) {
            throw bad(path, v.unwrapped(), "an integer in [" + min + ", " + max + "]");
        }
        if (v.unwrapped() instanceof Double d && d != Math.rint(d)) {
            throw bad(path, v.unwrapped(), "an integer in [" + min + ", " + max + "]");
        }
        if (x < min || x > max) throw bad(path, x, "an integer in [" + min + ", " + max + "]");
        return x;
    }

    int intIn(String path, int min, int max) {
        return (int) longIn(path, min, max);
    }

    double doubleIn(String path, double min, double max) {
        ConfigValue v = value(path);
        double x;
        try {
            x = config.getDouble(path(path));
        } catch (ConfigException.WrongType e) {
            throw bad(path, v.unwrapped(), "a number in [" + min + ", " + max + "]");
        }
        if (!(x >= min && x <= max)) throw bad(path, x, "a number in [" + min + ", " + max + "]");
        return x;
    }

    boolean bool(String path) {
        ConfigValue v = value(path);
        try {
            return config.getBoolean(path(path));
        } catch (ConfigException.WrongType e) {
            throw bad(path, v.unwrapped(), "true or false");
        }
    }

    Config object(String path) {
        ConfigValue v = value(path);
        if (v.valueType() != ConfigValueType.OBJECT) throw bad(path, v.render(), "an object { ... }");
        return config.getConfig(path(path));
    }

    List<? extends Config> objectList(String path) {
        ConfigValue v = value(path);
        try {
            return config.getConfigList(path(path));
        } catch (ConfigException.WrongType e) {
            throw bad(path, v.render(), "a list of objects [ { ... }, ... ]");
        }
    }

    List<String> stringList(String path) {
        ConfigValue v = value(path);
        try {
            return config.getStringList(path(path));
        } catch (ConfigException.WrongType e) {
            throw bad(path, v.render(), "a list of strings [ \"...\", ... ]");
        }
    }

    java.time.Duration durationIn(String path, java.time.Duration min, java.time.Duration max) {
        ConfigValue v = value(path);
        java.time.Duration d;
        try {
            d = config.getDuration(path(path));
        } catch (ConfigException.BadValue | ConfigException.WrongType e) {
            throw bad(path, v.unwrapped(), "a duration such as 500ms, 3s or 1m");
        }
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) throw bad(path, v.unwrapped(), "a duration in [" + min + ", " + max + "]");
        return d;
    }

    Config raw() {
        return config;
    }
}
