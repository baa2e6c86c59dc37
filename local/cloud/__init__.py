"""The stack as the local runtime sees it: the program evaluated under the fake cloud (capture),
the offline plan (preview), the functions it declares and the local values of its secrets."""
