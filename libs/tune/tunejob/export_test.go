package tunejob

// LibraryForTest exposes the library to the external test package.
func LibraryForTest() Library { return Library{} }
