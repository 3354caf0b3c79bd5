package dev.lakeforge.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.stream.Collectors;

/**
 * Reads YAML (and JSON) spec files into immutable records, strictly: unknown fields, wrong types
 * and values that fail a record's own validation all become a {@link SpecException} naming the
 * file, the field path (e.g. {@code columns[2].type}) and the fix.
 */
public final class YamlSpecReader {
  private static final ObjectMapper YAML =
      JsonMapper.builder(new YAMLFactory())
          .addModule(new Jdk8Module())
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
          .build();

  private YamlSpecReader() {}

  /**
   * Reads {@code file} as a {@code type}; {@code what} names the kind of spec in messages ("table
   * spec").
   */
  public static <T> T read(Path file, Class<T> type, String what) {
    if (!Files.isRegularFile(file)) {
      throw new SpecException(
          String.format("Cannot read %s %s: no such file. Check the path.", what, file));
    }
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new SpecException(
          String.format("Cannot read %s %s: %s", what, file, e.getMessage()), e);
    }
    return parse(text, type, what + " " + file);
  }

  /** Parses {@code text}; {@code source} names where it came from in messages. */
  public static <T> T parse(String text, Class<T> type, String source) {
    if (text.isBlank()) {
      throw new SpecException(String.format("%s is empty: it must hold a YAML mapping.", source));
    }
    try {
      com.fasterxml.jackson.databind.JsonNode tree = YAML.readTree(text);
      // Jackson reports unknown fields only after the record's constructor ran, so a typo in a
      // required field would
      // surface as "field X is missing"; check the field names first to name the typo instead.
      checkFieldNames(tree, YAML.constructType(type), "", source);
      return YAML.treeToValue(tree, type);
    } catch (JsonProcessingException e) {
      throw translate(e, source);
    }
  }

  private static void checkFieldNames(
      com.fasterxml.jackson.databind.JsonNode node,
      com.fasterxml.jackson.databind.JavaType type,
      String path,
      String source) {
    if (type.isContainerType() && !type.isMapLikeType()) {
      com.fasterxml.jackson.databind.JavaType content = type.getContentType();
      if (node.isArray()) {
        for (int i = 0; i < node.size(); i++) {
          checkFieldNames(node.get(i), content, path + "[" + i + "]", source);
        }
      } else {
        checkFieldNames(node, content, path, source);
      }
      return;
    }
    if (type.isReferenceType()) {
      checkFieldNames(node, type.getReferencedType(), path, source);
      return;
    }
    if (!node.isObject() || type.isMapLikeType() || !type.getRawClass().isRecord()) {
      return;
    }
    java.util.Map<String, com.fasterxml.jackson.databind.JavaType> fields =
        new java.util.LinkedHashMap<>();
    for (var prop : YAML.getDeserializationConfig().introspect(type).findProperties()) {
      fields.put(prop.getName(), prop.getPrimaryType());
    }
    for (var it = node.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      com.fasterxml.jackson.databind.JavaType fieldType = fields.get(name);
      if (fieldType == null) {
        throw new SpecException(
            String.format(
                "%s: unknown field `%s`%s. Valid fields here: %s. Fix the spelling or remove it.",
                source,
                name,
                path.isEmpty() ? "" : " in `" + path + "`",
                String.join(", ", fields.keySet())));
      }
      checkFieldNames(node.get(name), fieldType, path.isEmpty() ? name : path + "." + name, source);
    }
  }

  private static final ObjectMapper JSON = JsonMapper.builder().addModule(new Jdk8Module()).build();

  /**
   * Writes a spec record as JSON in the shape {@link #parse} reads back (e.g. to keep it in the
   * catalog).
   */
  public static String toJson(Object spec) {
    try {
      return JSON.writeValueAsString(spec);
    } catch (JsonProcessingException e) {
      throw new SpecException(
          "Cannot write " + spec.getClass().getSimpleName() + " as JSON: " + e.getMessage(), e);
    }
  }

  private static SpecException translate(JsonProcessingException e, String source) {
    String field = e instanceof JsonMappingException m ? fieldPath(m) : "";
    String at = field.isEmpty() ? "" : " field `" + field + "`";
    if (e instanceof UnrecognizedPropertyException u) {
      return new SpecException(
          String.format(
              "%s: unknown field `%s`%s. Valid fields here: %s. Fix the spelling or remove it.",
              source,
              u.getPropertyName(),
              parentOf(field).isEmpty() ? "" : " in `" + parentOf(field) + "`",
              names(u.getKnownPropertyIds())),
          e);
    }
    if (e instanceof ValueInstantiationException v
        && v.getCause() instanceof LakeforgeException le) {
      return new SpecException(String.format("%s:%s %s", source, at, le.getMessage()), le);
    }
    if (e instanceof InvalidFormatException f) {
      return new SpecException(
          String.format(
              "%s:%s has value '%s', which is not a valid %s.",
              source, at, f.getValue(), f.getTargetType().getSimpleName()),
          e);
    }
    if (e instanceof MismatchedInputException m) {
      String expected =
          m.getTargetType() == null ? "another type" : m.getTargetType().getSimpleName();
      return new SpecException(
          String.format(
              "%s:%s has the wrong shape or type (expected %s). %s",
              source, at, expected, firstLine(m.getOriginalMessage())),
          e);
    }
    return new SpecException(
        String.format("%s is not valid YAML%s: %s", source, at, firstLine(e.getOriginalMessage())),
        e);
  }

  private static String fieldPath(JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getIndex() >= 0) {
        sb.append('[').append(ref.getIndex()).append(']');
      } else if (ref.getFieldName() != null) {
        if (sb.length() > 0) {
          sb.append('.');
        }
        sb.append(ref.getFieldName());
      }
    }
    return sb.toString();
  }

  private static String parentOf(String path) {
    int dot = path.lastIndexOf('.');
    return dot < 0 ? "" : path.substring(0, dot);
  }

  private static String names(Collection<Object> ids) {
    return ids == null
        ? "(none)"
        : ids.stream().map(Object::toString).sorted().collect(Collectors.joining(", "));
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
