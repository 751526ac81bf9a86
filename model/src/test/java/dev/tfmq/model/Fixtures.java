package dev.tfmq.model;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** Locates the diffusers-made fixtures copied into the test resources. */
public final class Fixtures {
    private Fixtures() {}

    public static Path tinyGray28() {
        try {
            return Path.of(Fixtures.class.getResource("/fixtures/tiny-gray28/meta.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
