package dep

// A service whose last instance goes leaves the service list, and one whose
// first instance comes joins it, in the same catalog write. The two are read
// by different views, whose answers can arrive some time apart; a template
// rendered between them mixes old and new (a site whose upstream is already
// empty, say). These interfaces let the watcher recognise that moment and
// read the list again before the template renders.

// InstanceList is a dependency whose value lists instances of one service.
type InstanceList interface {
	Dependency
	// Datacenter is the datacenter asked ("" for the agent's).
	Datacenter() string
	// Empty reports whether a value holds no instance.
	Empty(v any) bool
}

// ServiceList is a dependency whose value is the list of services.
type ServiceList interface {
	Dependency
	// Datacenter is the datacenter asked ("" for the agent's).
	Datacenter() string
	// ListsServices marks the kind; it does nothing.
	ListsServices()
}

// Datacenter is the datacenter of the query.
func (q *ServiceQuery) Datacenter() string { return q.DC }

// Empty reports whether v, a value of this query, has no instance.
func (q *ServiceQuery) Empty(v any) bool {
	s, _ := v.([]*HealthService)
	return len(s) == 0
}

// Datacenter is the datacenter of the query.
func (q *ServicesQuery) Datacenter() string { return q.DC }

// ListsServices marks ServicesQuery as the service list.
func (q *ServicesQuery) ListsServices() {}
