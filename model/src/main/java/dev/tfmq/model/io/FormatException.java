package dev.tfmq.model.io;

import java.io.IOException;
import java.nio.file.Path;

/** A file that is not what its format promises; the message names the file and the offending part. */
public class FormatException extends IOException {
    public FormatException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
