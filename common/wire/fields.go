package wire

import "github.com/tether-edge/tether/common/message"

// numStrings is the number of string fields in a body, before Content.
const numStrings = 11

// stringField is one string field of a body: its name in errors and where
// it lives in the message.
type stringField struct {
	name string
	p    *string
}

// stringFields returns m's string fields in wire order (see doc.go). It is
// the only statement of that order: the encoder, the decoder and their error
// messages all read it. (A static function, not a table of accessors, so
// that m does not escape to the heap.)
func stringFields(m *message.Message) [numStrings]stringField {
	return [...]stringField{
		{"header.id", &m.Header.ID},
		{"header.parentID", &m.Header.ParentID},
		{"header.resourceVersion", &m.Header.ResourceVersion},
		{"route.source", &m.Route.Source},
		{"route.destination", &m.Route.Destination},
		{"route.group", &m.Route.Group},
		{"route.operation", (*string)(&m.Route.Operation)},
		{"route.resource.node", &m.Route.Resource.Node},
		{"route.resource.namespace", &m.Route.Resource.Namespace},
		{"route.resource.type", &m.Route.Resource.Type},
		{"route.resource.name", &m.Route.Resource.Name},
	}
}

// fieldNames are the string fields' names in wire order, for the decoder's
// errors. They are kept apart from stringFields' pointers because passing a
// name from that array to an error would make the decoded message escape.
var fieldNames = func() (names [numStrings]string) {
	for i, f := range stringFields(&message.Message{}) {
		names[i] = f.name
	}
	return names
}()
