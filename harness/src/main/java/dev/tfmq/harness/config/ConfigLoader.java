package dev.tfmq.harness.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Loads a run configuration. Precedence, lowest first: the documented defaults ({@code tfmq} block of the harness's
 * {@code reference.conf}), the config file (which may {@code include} others and use {@code ${?ENV}} itself),
 * environment variables {@code TFMQ_<KEY>} for every documented key (the key below {@code tfmq.}, upper-cased, with
 * '.' and '-' as '_': {@code tfmq.run.samples} ← {@code TFMQ_RUN_SAMPLES}), then {@code --set key=value} (key with
 * or without the {@code tfmq.} prefix, value in HOCON syntax, a bare word taken as a string).
 *
 * <p>Keys the defaults do not document are rejected (a typo would otherwise be ignored silently), except inside the
 * free-form blocks {@code tfmq.quantization.overrides} and {@code tfmq.gate.rules}.
 */
public final class ConfigLoader {
    private static final Set<String> FREE_FORM = Set.of("tfmq.quantization.overrides", "tfmq.gate.rules");

    private ConfigLoader() {}

    public static RunConfig load(Path file, List<String> sets) {
        return load(file, sets, System.getenv());
    }

    public static RunConfig load(Path file, List<String> sets, Map<String, String> env) {
        if (file != null && !Files.isRegularFile(file)) throw new ConfigError("config file " + file + " does not exist");
        Config defaults = defaults().withOnlyPath("tfmq");
        Config user;
        try {
            user = file == null ? ConfigFactory.empty()
                    : ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
        } catch (ConfigException e) {
            throw new ConfigError("cannot parse " + file + ": " + e.getMessage());
        }
        Config envConfig = ConfigFactory.empty();
        for (String key : leafKeys(defaults)) {
            String name = envName(key);
            String v = env.get(name);
            if (v != null) envConfig = envConfig.withValue(key, parseValue(name, v));
        }
        Config sets0 = ConfigFactory.empty();
        for (String s : sets) {
            int eq = s.indexOf('=');
            if (eq <= 0) throw new ConfigError("--set '" + s + "': expected key=value, e.g. --set run.samples=256");
            String key = s.substring(0, eq).trim();
            if (!key.startsWith("tfmq.")) key = "tfmq." + key;
            sets0 = sets0.withValue(key, parseValue("--set " + key, s.substring(eq + 1)));
        }
        Config merged;
        try {
            merged = sets0.withFallback(envConfig).withFallback(user).withFallback(defaults)
                    .resolve(ConfigResolveOptions.defaults().setUseSystemEnvironment(true));
        } catch (ConfigException e) {
            throw new ConfigError((file == null ? "" : file + ": ") + e.getMessage());
        }
        if (!merged.hasPath("tfmq")) throw new ConfigError("no 'tfmq' block in " + file);
        checkKnown(merged, defaults);
        Path base = file == null ? Path.of("").toAbsolutePath() : file.toAbsolutePath().getParent();
        return RunConfig.from(merged.withOnlyPath("tfmq"), base);
    }

    /**
     * The {@code tfmq.gate} block of a gate config (rules and decide), over the built-in defaults of
     * {@code gate-default.conf} when {@code file} is null.
     */
    public static RunConfig.Gate loadGate(Path file) {
        Config c;
        if (file == null) {
            c = ConfigFactory.parseResources("gate-default.conf");
        } else {
            if (!Files.isRegularFile(file)) throw new ConfigError("gate config " + file + " does not exist");
            try {
                c = ConfigFactory.parseFile(file.toFile()).resolve();
            } catch (ConfigException e) {
                throw new ConfigError("cannot parse " + file + ": " + e.getMessage());
            }
        }
        Config merged = c.withFallback(defaults().withOnlyPath("tfmq.gate"));
        for (Map.Entry<String, ConfigValue> e : merged.withOnlyPath("tfmq").entrySet()) {
            String key = e.getKey();
            if (!key.startsWith("tfmq.gate.")) {
                throw new ConfigError("gate config " + (file == null ? "gate-default.conf" : file) + ": key '" + key
                        + "' is not allowed here; only tfmq.gate.decide, tfmq.gate.baseline and tfmq.gate.rules");
            }
        }
        Settings s = new Settings(merged, "tfmq.gate");
        s.onlyKeys(RunConfig.GATE_KEYS);
        java.util.List<? extends Config> list = s.objectList("rules");
        java.util.List<RunConfig.GateRule> rules = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) rules.add(RunConfig.rule(new Settings(list.get(i), "", "tfmq.gate.rules[" + i + "]")));
        return new RunConfig.Gate(s.oneOf("decide", "fail-if-certainly-worse", "pass-if-certainly-within"), null, List.copyOf(rules));
    }

    /**
     * The documented defaults: every reference.conf on the class path, without the JVM system properties that
     * {@code ConfigFactory.defaultReference()} mixes in (e.g. {@code -Dtfmq.home} would otherwise become a key).
     */
    static Config defaults() {
        return ConfigFactory.parseResources("reference.conf").resolve();
    }

    /** The environment variable that overrides a key. */
    public static String envName(String key) {
        String k = key.startsWith("tfmq.") ? key.substring(5) : key;
        return "TFMQ_" + k.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    static ConfigValue parseValue(String where, String text) {
        String t = text.trim();
        try {
            Config c = ConfigFactory.parseString("v = " + t);
            if (c.hasPathOrNull("v")) return c.getValue("v");
        } catch (ConfigException e) {
            // not HOCON syntax: a plain string (e.g. a path with characters HOCON reserves)
        }
        if (t.isEmpty()) throw new ConfigError(where + ": empty value");
        return ConfigValueFactory.fromAnyRef(t, where);
    }

    static Set<String> leafKeys(Config c) {
        Set<String> keys = new TreeSet<>();
        for (Map.Entry<String, ConfigValue> e : c.entrySet()) keys.add(e.getKey());
        return keys;
    }

    private static void checkKnown(Config merged, Config defaults) {
        List<String> unknown = new ArrayList<>();
        for (Map.Entry<String, ConfigValue> e : merged.withOnlyPath("tfmq").entrySet()) {
            String key = e.getKey();
            if (FREE_FORM.stream().anyMatch(f -> key.equals(f) || key.startsWith(f + "."))) continue;
            if (!defaults.hasPathOrNull(key)) unknown.add(key + originOf(e.getValue()));
        }
        if (!unknown.isEmpty()) {
            String first = unknown.get(0);
            String parent = first.contains(".") ? first.substring(0, first.lastIndexOf('.', first.indexOf(' ') < 0 ? first.length() : first.indexOf(' '))) : "tfmq";
            Set<String> siblings = new TreeSet<>();
            if (defaults.hasPath(parent) && defaults.getValue(parent).valueType() == ConfigValueType.OBJECT) {
                siblings.addAll(defaults.getConfig(parent).root().keySet());
            }
            throw new ConfigError("unknown config key" + (unknown.size() > 1 ? "s " : " ") + String.join(", ", unknown)
                    + (siblings.isEmpty() ? "" : "; keys allowed under '" + parent + "': " + String.join(", ", siblings)));
        }
    }

    private static String originOf(ConfigValue v) {
        return v.origin() == null || v.origin().description() == null ? "" : " (" + v.origin().description() + ")";
    }
}
