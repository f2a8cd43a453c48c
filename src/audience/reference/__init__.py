"""Reference data read from maintained packages: French communes, departments, regions."""
