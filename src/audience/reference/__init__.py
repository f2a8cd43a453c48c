"""Reference data shipped with the package: French communes, departments, regions."""
