package dev.tfmq.strategies.recipe;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValueType;

import java.util.List;
import java.util.Set;

/**
 * Strict reading of one HOCON object: every key must be known (a misspelt key is an error, never silently
 * ignored) and every bad value names the file/line, the key and the value.
 */
final class ConfigFields {
    private final Config c;
    private final String where;

    ConfigFields(Config c, String where, Set<String> allowed) {
        this.c = c;
        this.where = where;
        for (String k : c.root().keySet()) {
            if (!allowed.contains(k)) {
                throw new IllegalArgumentException(at(k) + ": unknown key '" + k + "' (allowed: " + new java.util.TreeSet<>(allowed) + ")");
            }
        }
    }

    String at(String key) {
        String origin = c.hasPath(key) ? c.getValue(key).origin().description() : c.origin().description();
        return where + "." + key + " (" + origin + ")";
    }

    boolean has(String key) { return c.hasPath(key); }

    Config sub(String key) {
        if (!c.hasPath(key)) return com.typesafe.config.ConfigFactory.empty(where + "." + key);
        if (c.getValue(key).valueType() != ConfigValueType.OBJECT) {
            throw new IllegalArgumentException(at(key) + ": must be an object, got " + c.getValue(key).render());
        }
        return c.getConfig(key);
    }

    String string(String key, String dflt) {
        if (!c.hasPath(key)) return dflt;
        try {
            return c.getString(key);
        } catch (ConfigException.WrongType e) {
            throw new IllegalArgumentException(at(key) + ": must be a string, got " + c.getValue(key).render());
        }
    }

    int integer(String key, int dflt, int min, int max) {
        if (!c.hasPath(key)) return dflt;
        int v;
        try {
            v = c.getInt(key);
        } catch (ConfigException.WrongType e) {
            throw new IllegalArgumentException(at(key) + ": must be an integer, got " + c.getValue(key).render());
        }
        if (v < min || v > max) throw new IllegalArgumentException(at(key) + ": " + v + " is outside [" + min + ", " + max + "]");
        return v;
    }

    long longValue(String key, long dflt, long min) {
        if (!c.hasPath(key)) return dflt;
        long v;
        try {
            v = c.getLong(key);
        } catch (ConfigException.WrongType e) {
            throw new IllegalArgumentException(at(key) + ": must be an integer, got " + c.getValue(key).render());
        }
        if (v < min) throw new IllegalArgumentException(at(key) + ": " + v + " is below " + min);
        return v;
    }

    long bytes(String key, long dflt) {
        if (!c.hasPath(key)) return dflt;
        try {
            return c.getBytes(key);
        } catch (ConfigException.BadValue | ConfigException.WrongType e) {
            throw new IllegalArgumentException(at(key) + ": must be a size like 512m or 2g, got " + c.getValue(key).render());
        }
    }

    double number(String key, double dflt, double min, double max) {
        if (!c.hasPath(key)) return dflt;
        double v;
        try {
            v = c.getDouble(key);
        } catch (ConfigException.WrongType e) {
            throw new IllegalArgumentException(at(key) + ": must be a number, got " + c.getValue(key).render());
        }
        if (!(v >= min && v <= max)) throw new IllegalArgumentException(at(key) + ": " + v + " is outside [" + min + ", " + max + "]");
        return v;
    }

    boolean bool(String key, boolean dflt) {
        if (!c.hasPath(key)) return dflt;
        try {
            return c.getBoolean(key);
        } catch (ConfigException.WrongType e) {
            throw new IllegalArgumentException(at(key) + ": must be true or false, got " + c.getValue(key).render());
        }
    }

    List<String> strings(String key, List<String> dflt) {
        if (!c.hasPath(key)) return dflt;
        try {
            return c.getStringList(key);
        } catch (ConfigException.WrongType e) {
            throw new IllegalArgumentException(at(key) + ": must be a list of strings, got " + c.getValue(key).render());
        }
    }

    <E> E choice(String key, String dflt, java.util.Map<String, E> options) {
        String v = string(key, dflt);
        E e = options.get(v);
        if (e == null) throw new IllegalArgumentException(at(key) + ": '" + v + "' is not one of " + options.keySet());
        return e;
    }

    ConfigValueType type(String key) { return c.getValue(key).valueType(); }

    Config raw() { return c; }
}
