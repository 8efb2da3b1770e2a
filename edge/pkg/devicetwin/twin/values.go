package twin

import (
	"strconv"
	"strings"
)

// Value types a twin property may have, as KubeEdge names them at the edge.
const (
	TypeString  = "string"
	TypeInt     = "int"
	TypeFloat   = "float"
	TypeDouble  = "double"
	TypeBoolean = "boolean"
	TypeBytes   = "bytes"
	TypeStream  = "stream"
)

// NormalizeType maps a DeviceModel property type (INT, FLOAT, DOUBLE,
// STRING, BOOLEAN, BYTES, STREAM, in any case; "integer" too) to the twin's
// lower-case type; "" is a string. ok is false for anything else.
func NormalizeType(t string) (string, bool) {
	switch s := strings.ToLower(t); s {
	case "":
		return TypeString, true
	case "integer":
		return TypeInt, true
	case TypeString, TypeInt, TypeFloat, TypeDouble, TypeBoolean, TypeBytes, TypeStream:
		return s, true
	default:
		return "", false
	}
}

// checkValue reports whether value is a valid value of type typ: integers
// in base 10, floats as strconv parses them, booleans "true" or "false";
// anything for the other types.
func checkValue(typ, value string) bool {
	switch typ {
	case TypeInt:
		_, err := strconv.ParseInt(value, 10, 64)
		return err == nil
	case TypeFloat, TypeDouble:
		_, err := strconv.ParseFloat(value, 64)
		return err == nil
	case TypeBoolean:
		return value == "true" || value == "false"
	default:
		return true
	}
}
