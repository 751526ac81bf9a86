package dev.tfmq.model.data;

/**
 * Brightness of a set of 8-bit images: the mean pixel value on [0, 1] with a 95 % interval (normal approximation
 * over the per-image means, which are independent samples where pixels are not), and the fractions of pixels at
 * the ends of the range, 255 (saturated white) and 0 (black). A mean shift of the denoiser shows here first.
 */
public record PixelStatistics(int images, double mean, double meanLow, double meanHigh, double whiteFraction,
                              double blackFraction) {

    public static PixelStatistics of(ImageDataset d) {
        int n = d.size();
        if (n < 2) throw new IllegalArgumentException(d.source() + ": pixel statistics need at least 2 images, got " + n);
        long per = (long) d.channels() * d.height() * d.width();
        double sum = 0, sumSq = 0;
        long white = 0, black = 0;
        for (int i = 0; i < n; i++) {
            long s = 0;
            for (byte b : d.imageBytes(i)) {
                int v = b & 0xFF;
                s += v;
                if (v == 255) white++;
                else if (v == 0) black++;
            }
            double m = s / (255.0 * per);
            sum += m;
            sumSq += m * m;
        }
        double mean = sum / n;
        double var = Math.max(0, (sumSq - n * mean * mean) / (n - 1));
        double half = 1.959964 * Math.sqrt(var / n);
        double all = (double) n * per;
        return new PixelStatistics(n, mean, mean - half, mean + half, white / all, black / all);
    }
}
