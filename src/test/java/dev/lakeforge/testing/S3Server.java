package dev.lakeforge.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.security.alias.CredentialProvider;
import org.apache.hadoop.security.alias.CredentialProviderFactory;

/**
 * A real S3-compatible server (s3proxy on its filesystem backend) in its own process on loopback,
 * for {@code s3a://} tests. Its keys are random per run and reach S3A through a Hadoop credential
 * provider file (jceks), the way Lakeforge expects secrets to arrive: never in a spec or a Spark
 * setting.
 */
public final class S3Server implements AutoCloseable {
  /** System property naming the s3proxy jar (set by the pom). */
  public static final String JAR_PROPERTY = "lakeforge.test.s3proxy.jar";

  private final Process process;
  private final int port;
  private final Path root;
  private final String accessKey = "test-" + UUID.randomUUID().toString().substring(0, 8);
  private final String secretKey = UUID.randomUUID().toString();

  private S3Server(Path dir) throws IOException, InterruptedException {
    String jar = System.getProperty(JAR_PROPERTY, "target/s3proxy/s3proxy.jar");
    if (!Files.isRegularFile(Path.of(jar))) {
      throw new IllegalStateException(
          "No s3proxy jar at " + jar + ": run the tests through Maven (mvn test).");
    }
    root = Files.createDirectories(dir.resolve("s3"));
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path props =
        Files.writeString(
            dir.resolve("s3proxy.properties"),
            String.join(
                "\n",
                "s3proxy.endpoint=http://127.0.0.1:" + port,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + accessKey,
                "s3proxy.credential=" + secretKey,
                "jclouds.provider=filesystem",
                "jclouds.filesystem.basedir=" + root,
                ""));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    process =
        new ProcessBuilder(java, "-Xmx256m", "-jar", jar, "--properties", props.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("s3proxy.log").toFile())
            .start();
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (true) {
      try (Socket probe = new Socket()) {
        probe.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException notYet) {
        if (!process.isAlive() || System.nanoTime() > deadline) {
          close();
          throw new IllegalStateException(
              "s3proxy did not start; see "
                  + dir.resolve("s3proxy.log")
                  + ": "
                  + Files.readString(dir.resolve("s3proxy.log")));
        }
        Thread.sleep(100);
      }
    }
  }

  /** Starts a server keeping its objects under {@code dir}. */
  public static S3Server start(Path dir) {
    try {
      return new S3Server(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Creates a bucket (a folder on the filesystem backend). */
  public void createBucket(String name) {
    try {
      Files.createDirectories(root.resolve(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Points S3A in {@code conf} at this server, with the keys written to a jceks credential store
   * under {@code dir}.
   */
  public void configure(Configuration conf, Path dir) {
    try {
      String store = "jceks://file" + dir.toAbsolutePath().resolve("s3-credentials.jceks");
      Configuration providerConf = new Configuration(false);
      providerConf.set(CredentialProviderFactory.CREDENTIAL_PROVIDER_PATH, store);
      CredentialProvider provider = CredentialProviderFactory.getProviders(providerConf).get(0);
      provider.createCredentialEntry("fs.s3a.access.key", accessKey.toCharArray());
      provider.createCredentialEntry("fs.s3a.secret.key", secretKey.toCharArray());
      provider.flush();
      conf.set(CredentialProviderFactory.CREDENTIAL_PROVIDER_PATH, store);
      conf.set("fs.s3a.endpoint", "http://127.0.0.1:" + port);
      conf.set("fs.s3a.endpoint.region", "us-east-1");
      conf.set("fs.s3a.path.style.access", "true");
      conf.set("fs.s3a.connection.ssl.enabled", "false");
      conf.set(
          "fs.s3a.aws.credentials.provider",
          "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The secret key, so tests can check it never shows up in output. */
  public String secretKey() {
    return secretKey;
  }

  @Override
  public void close() {
    process.destroy();
    try {
      process.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
