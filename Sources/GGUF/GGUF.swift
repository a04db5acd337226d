enum GGUFModule {}
