import greeting

print(greeting.hello("a poetry project"))
